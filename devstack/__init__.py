"""The developer launcher behind ./portal.sh (`python -m devstack up|test|down`); never imports Django."""
