"""Pre-flight safeguards: is the way back actually there before anyone needs it?"""
