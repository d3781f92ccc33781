//go:build !amd64 || purego

package vmath

func useAVXForTest() bool { return false }
