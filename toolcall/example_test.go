package toolcall_test

import (
	"context"
	"fmt"

	"github.com/minimind-go/minimind/toolcall"
)

func Example() {
	tools := toolcall.NewSet(toolcall.Calculator{}, toolcall.UnitConverter{})
	reply := "Let me compute.\n<tool_call>\n{\"name\": \"calculate_math\", \"arguments\": {\"expression\": \"(2+3)*4\"}}\n</tool_call>"
	for _, c := range toolcall.Parse(reply) {
		out, err := tools.Run(context.Background(), c)
		fmt.Println(c.Name, tools.Valid(c), out, err)
	}
	// Output: calculate_math true {"result":"20"} <nil>
}
