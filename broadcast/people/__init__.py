"""Users, sign-in, access tokens and the throttling of password guesses."""
