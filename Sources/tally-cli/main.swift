print("tally: not yet")
