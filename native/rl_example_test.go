package native_test

import (
	"fmt"

	"github.com/minimind-go/minimind/native"
)

func ExampleGroupAdvantages() {
	// Two prompts, three completions each: rewards are normalised within
	// each group with the population standard deviation.
	adv, _ := native.GroupAdvantages([]float64{1, 0, 0, 2, 2, 2}, 3)
	fmt.Printf("%.3f\n", adv)
	fmt.Printf("%.4f\n", native.KL3(-1.0, -1.5))
	// Output:
	// [1.414 -0.707 -0.707 0.000 0.000 0.000]
	// 0.1065
}
