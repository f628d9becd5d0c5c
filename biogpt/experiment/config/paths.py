"""Where the Hydra config tree is: inside the package, so installed commands find it from any directory."""

from pathlib import Path

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"
