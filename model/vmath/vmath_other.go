//go:build !amd64 || purego

package vmath

func expShift(dst, src []float32, shift float32) float64 { return expShiftGo(dst, src, shift) }
