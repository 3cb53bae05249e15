package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"net"
	"sync"
	"sync/atomic"
)

// server: the lab's server workload (Sources/TimesliceLab/Workloads/Server/ServerProtocol.swift)
// as a Go programmer writes it: net.Listen on 127.0.0.1:-port, a goroutine per connection that
// reads 16-byte requests (id u64, type u32, service_ns u32, little-endian), burns the request's
// service time as calibrated xorshift rounds (the lab's CPUWork: preempted work is still owed)
// and writes the 16-byte response (id, type, status 0). The lab's load generator measures; this
// program only serves. It exits once -conns connections have been accepted and all are closed.
func runServer(c *common) result {
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", c.port))
	if err != nil {
		return result{err: err}
	}
	defer ln.Close()
	roundsPerMicrosecond := calibrateRounds()
	var wg sync.WaitGroup
	var served int64
	for i := 0; i < c.conns; i++ {
		conn, err := ln.Accept()
		if err != nil {
			return result{err: err}
		}
		wg.Add(1)
		go func(conn net.Conn) {
			defer wg.Done()
			defer conn.Close()
			var buf [16]byte
			for {
				if _, err := io.ReadFull(conn, buf[:]); err != nil {
					return // io.EOF: the generator is done with this connection
				}
				service := binary.LittleEndian.Uint32(buf[12:])
				x := burn(int(float64(service)*roundsPerMicrosecond/1000+0.5), binary.LittleEndian.Uint64(buf[0:]))
				if x == 42 { // keeps x live; practically never true
					fmt.Print("")
				}
				binary.LittleEndian.PutUint32(buf[12:], 0)
				if _, err := conn.Write(buf[:]); err != nil {
					return
				}
				atomic.AddInt64(&served, 1)
				beat()
			}
		}(conn)
	}
	wg.Wait()
	return result{meaning: "none (the lab's load generator measures)", values: map[string]interface{}{
		"connections": c.conns, "requests_served": atomic.LoadInt64(&served), "rounds_per_us": roundsPerMicrosecond}}
}

// calibrateRounds is the lab's CPUWork.calibrate: the fastest of 50 blocks of 20 000 rounds.
func calibrateRounds() float64 {
	const block = 20000
	best := int64(math.MaxInt64)
	x := uint64(1)
	for i := 0; i < 50; i++ {
		t0 := now()
		x = burn(block, x)
		d := now() - t0
		if d < 1 {
			d = 1
		}
		if d < best {
			best = d
		}
	}
	if x == 42 {
		fmt.Print("")
	}
	return float64(block) * 1000 / float64(best)
}

// burn runs `rounds` of xorshift, each depending on the last (as CPUWork.burn).
func burn(rounds int, seed uint64) uint64 {
	x := seed | 1
	for r := 0; r < rounds; r++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}
