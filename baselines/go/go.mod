module timeslice/baselines/go

go 1.19
