"""A local Azure Web PubSub service: the REST API the service SDK calls and the client WebSocket
endpoint with its subprotocols, so the app's real SDK code runs without Azure."""

from localdev.webpubsub.launch import EmulatorThread, RunningEmulator, start_emulator
from localdev.webpubsub.server import Emulator

__all__ = ["Emulator", "EmulatorThread", "RunningEmulator", "start_emulator"]
