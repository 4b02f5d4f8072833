//! Who is asking: users file, PAM, API tokens, signed cookies, CSRF, login rate limits.
