"""Areas, commune radio stations, their receivers and the MQTT receiver protocol."""
