"""A local emulator of Pinterest's API v5 audience endpoints (FastAPI + uvicorn), for DAG tests and demos.

Start it with ``python -m airflow_provider_pinterest_audiences.emulator --port 8765`` or in-process with
``EmulatorServer``. It imports nothing from Airflow or from the rest of this package.
"""
