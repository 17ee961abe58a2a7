# Shared by the training benchmarks (sourced, not run).
#   bench_config MODEL:HEAD:SIZE:BATCH   # sets model, head, size, batch, tag (MODEL-HEAD-SIZE-BATCH) and
#                                        # config_opts (the wisesr bench train / train_reference.py spellings
#                                        # of the four); exits 2 on a malformed config
bench_config() {
  IFS=: read -r model head size batch <<<"$1"
  [[ -n $batch ]] || { echo "config '$1' is not MODEL:HEAD:SIZE:BATCH" >&2; exit 2; }
  tag="$model-$head-$size-$batch"
  config_opts=(--model.backbone "$model" --model.head "$head" --data.image_size "$size" --train.batch_size "$batch")
}
