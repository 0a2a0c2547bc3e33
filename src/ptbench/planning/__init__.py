"""Planning a profile before running it: its workload, this machine's calibration, the estimate."""
