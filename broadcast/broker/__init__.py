"""The MQTT broker's side: the embedded broker's authority, mosquitto's files."""
