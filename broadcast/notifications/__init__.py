"""Weekly campaign digests, language gap alerts and the e-mail that carries them."""
