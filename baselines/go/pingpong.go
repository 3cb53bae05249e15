package main

import "time"

// pingpong-chan: two goroutines hand a token back and forth over unbuffered channels. A sample
// is one round trip (two handoffs), timed by consecutive clock reads so that each round trip
// pays for one clock read only.
func runPingPongChan(c *common) result {
	ping, pong := make(chan struct{}), make(chan struct{})
	go func() {
		for range ping {
			pong <- struct{}{}
		}
	}()
	lockIfAsked(c)
	w := newWindow(c)
	samples := make([]int64, 0, w.expected(200*time.Nanosecond))
	prev := now()
	for {
		ping <- struct{}{}
		<-pong
		t := now()
		beat()
		if !w.inWarmup(prev) {
			samples = append(samples, t-prev)
		}
		prev = t
		if w.over(t, len(samples)) {
			break
		}
	}
	close(ping)
	var sum int64
	for _, v := range samples {
		sum += v
	}
	values := map[string]interface{}{"round_trips": len(samples)}
	if len(samples) > 0 {
		values["ns_per_handoff"] = float64(sum) / float64(2*len(samples))
	}
	return result{samples: samples, values: values, meaning: "round trip (two unbuffered channel handoffs)", hasLatency: true}
}
