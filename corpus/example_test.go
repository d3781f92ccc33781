package corpus_test

import (
	"fmt"
	"log"

	"github.com/minimind-go/minimind/corpus"
)

// Reading the embedded corpus: pretraining texts, conversations and the
// held-out definition questions.
func Example() {
	texts, err := corpus.ReadPretrain(corpus.Pretrain(), corpus.PretrainFile)
	if err != nil {
		log.Fatal(err)
	}
	convs, err := corpus.ReadConversations(corpus.SFT(), corpus.SFTFile)
	if err != nil {
		log.Fatal(err)
	}
	items, err := corpus.EvalSet()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(texts) > 10000, len(convs) > 20000, len(items) > 100)
	fmt.Println(convs[0].Conversations[0].Role, convs[0].Conversations[1].Role)
	// Output:
	// true true true
	// user assistant
}

// Scoring a model's answer to a held-out definition question.
func ExampleEvalItem_Match() {
	item := corpus.EvalItem{
		Word:     "dog",
		POS:      "noun",
		Question: `What does "dog" mean?`,
		Terms:    []string{"canine", "domestic animal"},
	}
	fmt.Println(item.Match("A dog is a kind of canine."))
	fmt.Println(item.Match("A dog is a small house."))
	// Output:
	// true
	// false
}
