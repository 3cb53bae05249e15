print("timeslice")
