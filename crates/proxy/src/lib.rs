//! The session reverse proxy: HTTP/1.1 and WebSocket, streamed both ways.
