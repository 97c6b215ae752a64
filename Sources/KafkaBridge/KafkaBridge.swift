// KafkaBridge — see README and ../shared/STYLE.md for what lives here.
