"""Where the agent keeps its files: ``VRM_HOME``, or the platform's data folder."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

HOME_VARIABLE = "VRM_HOME"
DATABASE_FILE = "agent.db"


@dataclass(frozen=True)
class AgentHome:
    """The agent's folder and the files in it."""

    path: Path

    @classmethod
    def resolve(cls, explicit: Path | None = None) -> AgentHome:
        """The home given, else ``$VRM_HOME``, else the user data folder for ``vrm``."""
        if explicit is not None:
            return cls(explicit.expanduser())
        configured = os.environ.get(HOME_VARIABLE)
        if configured:
            return cls(Path(configured).expanduser())
        return cls(Path(platformdirs.user_data_dir("vrm", appauthor=False)))

    @property
    def database(self) -> Path:
        """The SQLite database holding everything (personal values sealed)."""
        return self.path / DATABASE_FILE

    def create(self) -> None:
        """Create the folder, readable by its owner only."""
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path.chmod(0o700)
