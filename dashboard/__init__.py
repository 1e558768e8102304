"""The Streamlit dashboard: pages, the live component and its frame route. It owns no training logic and never
imports torch: it sends commands to core's runners and reads their immutable Snapshots (docs/architecture.md)."""
