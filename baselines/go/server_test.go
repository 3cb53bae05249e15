package main

import (
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"
)

// The server answers each request with its id and type and status 0, serves the connections it
// was told to expect, and exits once they are closed.
func TestServerEchoesRequestsAndExitsAfterItsConnections(t *testing.T) {
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := probe.Addr().(*net.TCPAddr).Port
	probe.Close()
	done := make(chan result, 1)
	go func() { done <- runServer(&common{port: port, conns: 2}) }()

	dial := func() net.Conn {
		for deadline := time.Now().Add(5 * time.Second); ; {
			conn, err := net.Dial("tcp", probe.Addr().String())
			if err == nil {
				return conn
			}
			if time.Now().After(deadline) {
				t.Fatal(err)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	for c := 0; c < 2; c++ {
		conn := dial()
		for id := uint64(1); id <= 3; id++ {
			var req, resp [16]byte
			binary.LittleEndian.PutUint64(req[0:], id)
			binary.LittleEndian.PutUint32(req[8:], uint32(c))
			binary.LittleEndian.PutUint32(req[12:], 1000) // 1 µs of work
			if _, err := conn.Write(req[:]); err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadFull(conn, resp[:]); err != nil {
				t.Fatal(err)
			}
			if binary.LittleEndian.Uint64(resp[0:]) != id || binary.LittleEndian.Uint32(resp[8:]) != uint32(c) ||
				binary.LittleEndian.Uint32(resp[12:]) != 0 {
				t.Fatalf("response %v to request %v", resp, req)
			}
		}
		conn.Close()
	}
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatal(r.err)
		}
		if r.values["requests_served"] != int64(6) {
			t.Fatalf("requests_served = %v, want 6", r.values["requests_served"])
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not exit after its connections closed")
	}
}
