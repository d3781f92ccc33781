package reward_test

import (
	"context"
	"fmt"

	"github.com/minimind-go/minimind/reward"
)

func Example() {
	// Twice the verifiable reward plus MiniMind's rule reward.
	r := reward.Sum{{Weight: 2, Func: reward.Contains{}}, {Weight: 1, Func: reward.Rule{}}}
	s := reward.Sample{Response: "A dog is a domesticated canine.", GT: []string{"canine", "wolf"}}
	v, err := r.Score(context.Background(), s)
	fmt.Println(v, err)
	// Output: 2.5 <nil>
}
