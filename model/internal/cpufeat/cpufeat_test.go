package cpufeat

import (
	"runtime"
	"testing"
)

func TestAVX2FMA(t *testing.T) {
	if runtime.GOARCH != "amd64" && AVX2FMA {
		t.Fatal("AVX2FMA is true off amd64")
	}
	t.Logf("AVX2+FMA: %v", AVX2FMA)
}
