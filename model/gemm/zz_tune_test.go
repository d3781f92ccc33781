package gemm
import ("testing"; "fmt"; "os"; "time"; "strconv"; "strings")
func TestTune(t *testing.T) {
	cfgs := strings.Split(os.Getenv("TUNE"), ";")  // each "mc,kc,nc"
	if cfgs[0] == "" { t.Skip() }
	opname := os.Getenv("TUNEOP")
	o := opNT
	if opname == "NN" { o = opNN } else if opname == "TN" { o = opTN }
	var ks []*kernels
	for _, c := range cfgs {
		f := strings.Split(c, ",")
		kk := *avxKernels
		kk.mc, _ = strconv.Atoi(f[0]); kk.kc, _ = strconv.Atoi(f[1]); kk.nc, _ = strconv.Atoi(f[2])
		ks = append(ks, &kk)
	}
	for _, m := range []int{64, 256, 1024} {
		for _, nk := range benchNK {
			n, k := nk[0], nk[1]
			ar, ac, br, bc := o.dims(m, n, k)
			_ = ar; _ = br
			out, a, b, _ := benchOperands(o, m, n, k)
			best := make([]float64, len(ks))
			for rep := 0; rep < 7; rep++ {
				for i, kk := range ks {
					s := timeIt(func() { call(o, kk, out, n, a, ac, b, bc, m, n, k, false, 1) }, 30*time.Millisecond)
					if best[i] == 0 || s < best[i] { best[i] = s }
				}
			}
			line := fmt.Sprintf("%v m%d n%d k%d:", o, m, n, k)
			for i := range ks { line += fmt.Sprintf(" %6.1f", 2*float64(m*n*k)/best[i]/1e9) }
			t.Log(line)
		}
	}
}
