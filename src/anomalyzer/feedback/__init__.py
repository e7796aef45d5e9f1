"""Human feedback: labels from analysts, and rankings that learn from them."""
