//go:build !unix

package main

// cpuSeconds is unknown on this platform.
func cpuSeconds() float64 { return -1 }
