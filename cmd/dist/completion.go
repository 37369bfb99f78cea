package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:  "completion",
		Usage: "print a shell completion script for bash, zsh or fish",
		UsageText: `source <(dist completion bash)                  # now, in this shell
dist completion bash > ~/.local/share/bash-completion/completions/dist
source <(dist completion zsh)                   # zsh, after compinit
dist completion fish > ~/.config/fish/completions/dist.fish`,
		Description: `Completes commands and flags; dist itself is asked (with
--generate-bash-completion), so the script never goes stale. The scripts
complete the command named dist: put the binary on your PATH.`,
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErr(fmt.Errorf("say which shell: dist completion bash|zsh|fish"))
			}
			switch c.Args().First() {
			case "bash":
				fmt.Print(bashCompletion)
			case "zsh":
				fmt.Print(zshCompletion)
			case "fish":
				s, err := c.App.ToFishCompletion()
				if err != nil {
					return cli.Exit(err.Error(), exitJobFailed)
				}
				fmt.Print(s)
			default:
				return usageErr(fmt.Errorf("no completion for shell %q: use bash, zsh or fish", c.Args().First()))
			}
			return nil
		},
	}
}

// bashCompletion asks dist for the words that may follow the command line
// typed so far. It needs nothing from the bash-completion package.
const bashCompletion = `# bash completion for dist: source <(dist completion bash)
_dist_complete() {
	local cur=${COMP_WORDS[COMP_CWORD]}
	local words=("${COMP_WORDS[@]:0:COMP_CWORD}")
	local opts
	if [[ $cur == -* ]]; then
		opts=$("${words[@]}" "$cur" --generate-bash-completion 2>/dev/null)
	else
		opts=$("${words[@]}" --generate-bash-completion 2>/dev/null)
	fi
	COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -o bashdefault -o default -F _dist_complete dist
`

const zshCompletion = `#compdef dist
# zsh completion for dist: source <(dist completion zsh), after compinit
_dist() {
	local -a opts
	local cur=${words[-1]}
	if [[ $cur == -* ]]; then
		opts=("${(@f)$(${words[@]:0:#words[@]-1} $cur --generate-bash-completion 2>/dev/null)}")
	else
		opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion 2>/dev/null)}")
	fi
	if [[ ${opts[1]} != "" ]]; then
		_describe 'values' opts
	else
		_files
	fi
}
compdef _dist dist
`
