"""Where the time goes: ncu, proton's scopes, the roofline, hot lines folded onto every level."""
