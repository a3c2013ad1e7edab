"""The live dashboard: a simulation, frames of it over a WebSocket, and a page that draws them."""
