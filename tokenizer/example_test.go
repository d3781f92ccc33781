package tokenizer_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/minimind-go/minimind/tokenizer"
)

// A small corpus in MiniMind's jsonl formats: pretraining text and an SFT
// conversation.
const corpus = `{"text": "the cat sat on the mat. the cat ate the rat."}
{"text": "小猫坐在垫子上。小猫吃了老鼠。"}
{"conversations": [{"role": "user", "content": "where is the cat?"}, {"role": "assistant", "content": "the cat is on the mat."}]}
`

func ExampleTrain() {
	tok, err := tokenizer.Train(context.Background(), tokenizer.JSONLTexts(strings.NewReader(corpus), "corpus.jsonl"),
		tokenizer.TrainOptions{VocabSize: 280})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.VocabSize(), len(tok.Merges()))
	fmt.Println(tok.Merges()[:3])
	// Output:
	// 280 21
	// [[a t] [h e] [t he]]
}

func ExampleTokenizer_Encode() {
	tok, err := tokenizer.Train(context.Background(), tokenizer.JSONLTexts(strings.NewReader(corpus), "corpus.jsonl"),
		tokenizer.TrainOptions{VocabSize: 280})
	if err != nil {
		log.Fatal(err)
	}
	ids := tok.Encode("<|im_start|>the cat<|im_end|>")
	fmt.Println(ids)
	fmt.Printf("%q\n", tok.Decode(ids))
	fmt.Printf("%q\n", tok.DecodeSkipSpecial(ids))
	// Output:
	// [1 261 264 2]
	// "<|im_start|>the cat<|im_end|>"
	// "the cat"
}

func ExampleTokenizer_NewStreamDecoder() {
	tok, err := tokenizer.Train(context.Background(), tokenizer.JSONLTexts(strings.NewReader(corpus), "corpus.jsonl"),
		tokenizer.TrainOptions{VocabSize: 259})
	if err != nil {
		log.Fatal(err)
	}
	// With only byte tokens, "猫" is three ids; the stream decoder holds the
	// first two back until the character is complete.
	d := tok.NewStreamDecoder()
	for _, id := range tok.Encode("猫!") {
		fmt.Printf("%q ", d.Push(id))
	}
	fmt.Printf("%q\n", d.Flush())
	// Output:
	// "" "" "猫" "!" ""
}

func ExampleTokenizer_ApplyChatTemplate() {
	tok, err := tokenizer.Train(context.Background(), tokenizer.JSONLTexts(strings.NewReader(corpus), "corpus.jsonl"),
		tokenizer.TrainOptions{VocabSize: 280})
	if err != nil {
		log.Fatal(err)
	}
	prompt, err := tok.ApplyChatTemplate([]tokenizer.Message{
		{Role: "user", Content: "where is the cat?"},
	}, tokenizer.ChatOptions{AddGenerationPrompt: true})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(prompt)
	// Output:
	// <|im_start|>system
	// You are a helpful assistant<|im_end|>
	// <|im_start|>user
	// where is the cat?<|im_end|>
	// <|im_start|>assistant
}

func ExampleLoadFS() {
	// A program can embed a tokenizer folder with go:embed and load it from
	// the embedded file system; os.DirFS stands in for it here.
	dir, err := os.MkdirTemp("", "tok")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	trained, err := tokenizer.Train(context.Background(), tokenizer.JSONLTexts(strings.NewReader(corpus), "corpus.jsonl"),
		tokenizer.TrainOptions{VocabSize: 280})
	if err != nil {
		log.Fatal(err)
	}
	if err := trained.Save(dir + "/minimind"); err != nil {
		log.Fatal(err)
	}
	tok, err := tokenizer.LoadFS(os.DirFS(dir), "minimind")
	if err != nil {
		log.Fatal(err)
	}
	bos, _ := tok.SpecialID("bos")
	eos, _ := tok.SpecialID("eos")
	fmt.Println(tok.VocabSize(), bos, eos)
	// Output:
	// 280 1 2
}
