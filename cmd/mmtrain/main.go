// Command mmtrain trains MiniMind models on the CPU, with MiniMind's
// training scripts' flag names and defaults. With no arguments it runs
// MiniMind-Zero: pretraining and SFT of a small model on the embedded corpus
// with the embedded tokenizer, then an evaluation, all into ./out.
//
//	mmtrain
//	mmtrain pretrain --data_path pretrain_hq.jsonl --tokenizer model/ --save_dir out
//	mmtrain sft --data_path sft_mini_512.jsonl --from_weight out/pretrain_512 --save_dir out
//	mmtrain lora --data_path lora_identity.jsonl --from_weight full_sft --lora_name lora_identity --save_dir out
//	mmtrain dpo --data_path dpo.jsonl --from_weight full_sft --ref_cache --save_dir out
//	mmtrain merge-lora --from_weight out/full_sft_512 --lora out/lora_identity_512 --save_dir out
//	mmtrain zero --stages pretrain,sft,dpo,lora
//	mmtrain bench --preset minimind2-small --batch_size 4 --max_seq_len 256
//
// Weights are saved as a Hugging Face folder save_dir/{save_weight}_{hidden}[_moe]
// (config.json, model.safetensors, the tokenizer files, train_log.jsonl,
// loss.svg); the resume checkpoint save_dir/{save_weight}_{hidden}[_moe]_resume.safetensors
// is written with every save and on Ctrl-C, and --from_resume 1 continues
// from it exactly.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "mmtrain:", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// errUsage marks command-line mistakes (exit status 2).
var errUsage = errors.New("usage")

// parseFlags parses a stage's flags: -h is returned as flag.ErrHelp, any
// other mistake or a stray argument as errUsage.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	return nil
}

const usage = `mmtrain trains MiniMind models on the CPU.

Usage:
  mmtrain                    MiniMind-Zero: pretrain + SFT a small model on the embedded corpus (into ./out)
  mmtrain zero [flags]       the same, with its settings as flags
  mmtrain pretrain [flags]   pretraining on {"text": ...} jsonl
  mmtrain sft [flags]        full supervised fine-tuning on {"conversations": [...]} jsonl
  mmtrain lora [flags]       LoRA adapters on a frozen model (SFT data); saves .safetensors, .pth and a PEFT folder
  mmtrain dpo [flags]        direct preference optimisation on {"chosen": [...], "rejected": [...]} jsonl
  mmtrain distill [flags]    white-box distillation from a teacher checkpoint (SFT data)
  mmtrain reason [flags]     reasoning SFT: thinking-tag tokens weighted ×10
  mmtrain merge-lora [flags] fold LoRA adapters into their base model
  mmtrain bench [flags]      training speed on synthetic batches
  mmtrain grpo [flags]       GRPO/CISPO with rewards (G completions per prompt)
  mmtrain ppo [flags]        PPO with a critic
  mmtrain agent [flags]      multi-turn tool-use RL
  mmtrain zero-grpo [flags]  GRPO on the Zero model with the definition reward

Run "mmtrain <stage> -h" for the flags of a stage.
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return zero(ctx, nil, stdout, stderr)
	}
	switch args[0] {
	case "zero":
		return zero(ctx, args[1:], stdout, stderr)
	case "pretrain", "sft", "lora", "dpo", "distill", "reason":
		return train(ctx, args[0], args[1:], stdout, stderr)
	case "merge-lora":
		return mergeLoRA(args[1:], stdout, stderr)
	case "bench":
		return bench(ctx, args[1:], stdout, stderr)
	case "grpo", "ppo", "agent":
		return rl(ctx, args[0], args[1:], stdout, stderr)
	case "zero-grpo":
		return zeroGRPO(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: unknown stage %q", errUsage, args[0])
	}
}
