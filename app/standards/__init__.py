"""Standard setting: modified-Angoff studies that recommend and approve a track's cut."""
