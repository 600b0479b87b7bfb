package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/aienrichment/ai-enrichment/functions/contract"
	"github.com/aienrichment/ai-enrichment/functions/localcloud"
	"github.com/aienrichment/ai-enrichment/functions/localcloud/bedrockemu"
	"github.com/aienrichment/ai-enrichment/functions/localcloud/offline"
	"github.com/aienrichment/ai-enrichment/functions/localrun"
)

func newLocalCmd(o *Options) *cobra.Command {
	var (
		port   int
		replay string
	)
	up := &cobra.Command{
		Use:   "up",
		Short: "Run the local cloud with the resources of --stack until interrupted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if replay != "" {
				if fi, err := os.Stat(replay); err != nil || !fi.IsDir() {
					return usageErr("--replay %s: not a directory of recorded answers ({job}/{pass}-{model}-raw.txt)", replay)
				}
			}
			return o.localUp(cmd.Context(), cmd.OutOrStdout(), port, replay)
		},
	}
	up.Flags().IntVar(&port, "port", 4566, "gateway port on 127.0.0.1")
	up.Flags().StringVar(&replay, "replay", "", "directory of recorded answers ({job}/{pass}-{model}-raw.txt) served before the offline model")
	return group("local", "The local cloud (moto, gateway, Bedrock emulator)", up)
}

// localUp starts the local cloud with the offline model (and recorded answers from
// replayDir), deploys the whole pipeline of the stack into it — resources, handlers,
// the queue's event source mapping and the schedules — and serves until ctx ends.
func (o *Options) localUp(ctx context.Context, w io.Writer, port int, replayDir string) error {
	s, err := o.settings()
	if err != nil {
		return err
	}
	// One JSON log stream on stderr: the cloud's, the handlers' and any written through
	// the default logger.
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	slog.SetDefault(log)
	c, err := localcloud.Start(ctx, localcloud.Options{
		Port:    port,
		Bedrock: bedrockemu.Options{Offline: offline.Answer, ReplayDir: replayDir},
		Logger:  log,
	})
	if err != nil {
		return fmt.Errorf("start local cloud: %w", err)
	}
	defer c.Close()
	// The account the local cloud models offers the stack's models, for `preflight --local`.
	c.ControlPlane().Offer(s.Models()...)
	st, err := localrun.Deploy(ctx, c, o.names(), s, localrun.Options{Log: log, Metrics: io.Discard})
	if err != nil {
		return fmt.Errorf("deploy stack %s: %w", o.Stack, err)
	}
	stop, err := st.Start(ctx, localrun.Schedule{Discover: time.Minute, Cleanup: time.Minute, Events: 5 * time.Second}, log)
	if err != nil {
		return err
	}
	defer stop()
	res := st.Resources
	model := "offline model"
	if replayDir != "" {
		model = "answers replayed from " + replayDir + ", else the offline model"
	}
	if o.JSON {
		err = json.NewEncoder(w).Encode(map[string]any{"endpoint": c.Endpoint(), "moto_log": c.MotoLog(), "resources": res})
	} else {
		_, err = fmt.Fprintf(w, "local cloud of stack %s at %s (Bedrock: %s)\n"+
			"  operate it: %s status\n"+
			"  other tools, set per command: %s=%s aws sqs list-queues\n"+
			"    (set for the whole shell, it would also send enrichctl without --local and every other AWS tool here)\n"+
			"  bronze: %s  silver: %s\n  queue: %s\n  dlq: %s\n  state machine: %s\n  moto log: %s\nCtrl-C to stop.\n",
			o.Stack, c.Endpoint(), model, localFlags(o.Stack, c.Endpoint()), contract.EnvAWSEndpointURL, c.Endpoint(),
			res.BronzeBucket, res.SilverBucket, res.QueueURL, res.DLQURL, res.StateMachineARN, c.MotoLog())
	}
	if err != nil {
		return fmt.Errorf("print endpoint: %w", err)
	}
	<-ctx.Done()
	return nil
}

// localFlags is the enrichctl command prefix that reaches a local cloud at endpoint.
func localFlags(stack, endpoint string) string {
	cmd := "enrichctl --local"
	if endpoint != DefaultLocalEndpoint {
		cmd += " --endpoint " + endpoint
	}
	if stack != "dev" {
		cmd += " --stack " + stack
	}
	return cmd
}
