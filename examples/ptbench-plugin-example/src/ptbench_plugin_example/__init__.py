"""An example ptbench plugin (docs/plugins.md of ptbench): one method, ``gated_pt``."""
