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
	samples := measureBackToBack(w, 200*time.Nanosecond, func() {
		ping <- struct{}{}
		<-pong
	})
	close(ping)
	sum := total(samples)
	values := map[string]interface{}{"round_trips": len(samples)}
	if len(samples) > 0 {
		values["ns_per_handoff"] = float64(sum) / float64(2*len(samples))
	}
	return result{samples: samples, values: values, meaning: "round trip (two unbuffered channel handoffs)", hasLatency: true}
}
