//! The HTTP front: REST API, login, UI, proxy routing, health and metrics.
