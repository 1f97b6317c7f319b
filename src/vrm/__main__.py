from vrm.cli.main import run

run()
