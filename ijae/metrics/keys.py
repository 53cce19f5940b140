"""The fields of a metric record (``RUN/metrics.json``, one row of ``metrics.csv``), by name.

The record is the contract between ``ijae evaluate`` and every table and figure: code reads and
writes its fields through these constants (torch-fidelity's ``KEY_METRIC_*`` style), never
through string literals. Backend-specific extras (feature extractor, layers) are named in the
backend's own module.
"""

# which run: identity, and how the method is shown in tables (from the model registry)
KEY_DATASET = "dataset"
KEY_MODEL = "model"
KEY_VARIANT = "variant"
KEY_LAMBDA = "lambda"
KEY_SEED = "seed"
KEY_PROFILE = "profile"
KEY_IMAGE_SIZE = "image_size"
KEY_LABEL = "label"                      # the method's name in tables, e.g. "AGE"
KEY_IMPLEMENTATION = "implementation"    # native | upstream | port | port (from paper)

# generation: IS over splits of the samples, FID against the train split
KEY_BACKEND = "backend"
KEY_GENERATION_METRIC = "generation_metric"   # what the IS column measures, in words
KEY_METRIC_IS_MEAN = "is_mean"
KEY_METRIC_IS_STD = "is_std"
KEY_IS_SPLITS = "is_splits"
# IS depends on how many samples a split holds (a perfect 1,000-mode sampler scores about 562 at
# 1,000 a split and 806 at 2,600): every IS is computed at a fixed split size, beside the IS of a
# perfect sampler at that size (uniform over the known modes, where the backend has them) and of
# the real reference images (the FID reference) at that size
KEY_IS_SPLIT_SIZE = "is_split_size"
KEY_IS_CEILING = "is_ceiling"
KEY_IS_REAL = "is_real"
KEY_IS_STD_OVER = "is_std_over"
KEY_N_SAMPLES = "n_samples"
KEY_METRIC_FID = "fid"
KEY_FID_REFERENCE = "fid_reference"
KEY_FID_REFERENCE_N = "fid_reference_n"
KEY_HELDOUT_SPLIT = "heldout_split"   # the run's held-out split (data.split): test | validation

# beside FID, on the same features and reference (the train split): KID (mean, std over random
# subsets) and precision / recall (Kynkaanniemi et al. 2019: the share of samples inside the real
# set's k-NN balls, and of real images inside the samples' balls), as torch-fidelity computes them
KEY_METRIC_KID_MEAN = "kid_mean"
KEY_METRIC_KID_STD = "kid_std"
KEY_KID_SUBSETS = "kid_subsets"
KEY_KID_SUBSET_SIZE = "kid_subset_size"
KEY_KID_REFERENCE_N = "kid_reference_n"
KEY_METRIC_PRECISION = "precision"
KEY_METRIC_RECALL = "recall"
KEY_METRIC_F_SCORE = "f_score"
KEY_PRC_NEIGHBORHOOD = "prc_neighborhood"      # k of the k-NN balls
KEY_PRC_REFERENCE_N = "prc_reference_n"
KEY_FID_LAYER = "fid_layer"                    # FID, KID and precision / recall share the layer
KEY_KID_LAYER = "kid_layer"
KEY_PRC_LAYER = "prc_layer"
# density and coverage (Naeem et al. 2020; manifold.py) on the same features, and the
# data-copying test C_T (Meehan et al. 2020) of the samples against the train split
KEY_METRIC_DENSITY = "density"
KEY_METRIC_COVERAGE = "coverage"
KEY_PRDC_K = "prdc_k"
KEY_PRDC_N = "prdc_n"
KEY_METRIC_COPYING = "copying_ct"
KEY_COPYING_RULE = "copying_rule"

# mode coverage (digits backend): the classifier's labels of the samples. The modes are the 10
# classes on digits (covered: >= 1 % of the samples; KL against the test split's histogram) and
# the 1,000 channel triples on stacked digits (covered: >= 1 sample; KL against uniform)
KEY_METRIC_MODES_COVERED = "modes_covered"
KEY_N_MODES = "n_modes"
KEY_MODES_COVERED_RULE = "modes_covered_rule"         # in words, with the number of samples
KEY_METRIC_MODE_KL = "mode_kl"                        # KL(sample modes || the reference)
KEY_MODE_KL_REFERENCE = "mode_kl_reference"
CLASS_FRACTION_PREFIX = "class_fraction_"             # + the class: its share of the samples
# ... and over the samples accepted as digits (accept.py: noise covers no mode), with the share
# accepted and the share of samples that repeat another (copies)
KEY_ACCEPTED_SHARE = "accepted_share"              # samples whose every digit is accepted
KEY_ACCEPTED_DIGIT_SHARE = "accepted_digit_share"  # digits accepted, one by one (the guard's)
KEY_METRIC_MODES_COVERED_ACCEPTED = "modes_covered_accepted"
KEY_METRIC_MODE_KL_ACCEPTED = "mode_kl_accepted"
KEY_ACCEPT_RULE = "accept_rule"
KEY_DUPLICATE_SHARE = "duplicate_share"


def class_fraction_key(label: int) -> str:
    """The record field of one class's share of the samples (records are flat: no lists)."""
    return f"{CLASS_FRACTION_PREFIX}{int(label)}"


# degenerate samples (collapse.py): spread and contrast against the real images, the share of the
# most common 1 % of the modes, and the verdict with the measures that decided it
KEY_SAMPLE_SPREAD_RATIO = "sample_spread_ratio"
KEY_SAMPLE_CONTRAST_RATIO = "sample_contrast_ratio"
KEY_TOP_MODES_SHARE = "top_modes_share"
KEY_TOP_MODES_K = "top_modes_k"
KEY_COLLAPSED = "collapsed"
KEY_COLLAPSE_REASON = "collapse_reason"

# reconstruction: a distance between each test image and its reconstruction
KEY_RECON_METRIC = "recon_metric"
KEY_METRIC_RECON_MEAN = "recon_mean"
KEY_METRIC_RECON_STD = "recon_std"
KEY_RECON_STD_OVER = "recon_std_over"
KEY_N_RECONSTRUCTIONS = "n_reconstructions"
# ... and, on the digits backend, whether it keeps the digit: the share of test images whose
# reconstruction the classifier labels with the original's label; beside it the same for each
# original against another image's reconstruction (chance: a model that ignores x) and for the
# originals themselves (the classifier's accuracy: what a perfect reconstruction scores)
KEY_METRIC_RECON_LABEL_AGREEMENT = "recon_label_agreement"
KEY_RECON_LABEL_AGREEMENT_CHANCE = "recon_label_agreement_chance"
KEY_ORIGINALS_ACCURACY = "digits_classifier_originals_accuracy"
KEY_RECON_LABEL_REFERENCE = "recon_label_reference"   # true labels, or the classifier's
# the scoring classifier (digits backend): the dataset it was trained on (digits | mnist) and
# its accuracy on that dataset's test split, printed with every table
KEY_CLASSIFIER_DATASET = "digits_classifier_dataset"
KEY_CLASSIFIER_TEST_ACCURACY = "digits_classifier_test_accuracy"
# stacked digits: the label agreement above asks all three digits right (chance about 0.001);
# beside it the share of channels whose digit is kept (mean over R, G, B; chance about 0.1)
KEY_METRIC_RECON_CHANNEL_AGREEMENT = "recon_channel_agreement"
KEY_RECON_CHANNEL_AGREEMENT_CHANCE = "recon_channel_agreement_chance"
CHANNEL_AGREEMENT_PREFIX = "recon_channel_agreement_"  # + r, g, b: one channel's share

# what the classifier reads in the first images (digits backend), for the Appendix C grid to print
# under each image: space-separated labels (a digit; on stacked digits the triple "r g b" as
# three digits, e.g. 127), of the samples, the reconstructions and (true labels) the originals
KEY_LABELS_OF_SAMPLES = "labels_first_samples"
KEY_LABELS_OF_RECONSTRUCTIONS = "labels_first_reconstructions"
KEY_LABELS_OF_ORIGINALS = "labels_first_originals"
N_LABELLED = 16                          # how many of each

# provenance
KEY_PRESET = "preset"                    # the preset file of the run's config (or empty)
KEY_PRESET_KIND = "preset_kind"          # hand | tuned
KEY_TRAIN_SECONDS = "train_seconds"      # training wall time (RUN/timing.json; all resumes)
KEY_TRAIN_CPU_SECONDS = "train_cpu_seconds"   # the training process's CPU time (the same)
KEY_TRAIN_THREADS = "train_threads"
KEY_TRAIN_STEP = "train_step"            # the training step of the weights scored (RUN/timing.json)
KEY_TRAIN_PRECISION = "train_precision"  # fp32 | bf16 autocast (RUN/timing.json; else the config)
KEY_CONFIG_HASH = "config_hash"
KEY_RUN = "run"                          # the run folder, relative (see record.portable_path)
KEY_DEVICE = "device"
KEY_DEVICE_NAME = "device_name"
KEY_TIMESTAMP = "timestamp"
KEY_WALL_TIME_S = "wall_time_s"
KEY_GIT_COMMIT = "git_commit"
KEY_GIT_DIRTY = "git_dirty"

# what Table 1 needs of every record
TABLE_KEYS = (KEY_MODEL, KEY_LABEL, KEY_IMPLEMENTATION, KEY_VARIANT, KEY_LAMBDA, KEY_SEED,
              KEY_DATASET, KEY_BACKEND, KEY_GENERATION_METRIC, KEY_METRIC_IS_MEAN,
              KEY_METRIC_IS_STD, KEY_N_SAMPLES, KEY_IS_STD_OVER, KEY_METRIC_FID, KEY_RECON_METRIC,
              KEY_METRIC_RECON_MEAN, KEY_METRIC_RECON_STD, KEY_N_RECONSTRUCTIONS,
              KEY_RECON_STD_OVER)
# column order of metrics.csv: identity first, then the numbers Table 1 stands on, then the rest
LEAD_KEYS = (KEY_DATASET, KEY_MODEL, KEY_LABEL, KEY_IMPLEMENTATION, KEY_VARIANT, KEY_LAMBDA,
             KEY_SEED, KEY_PROFILE, KEY_BACKEND, KEY_METRIC_IS_MEAN, KEY_METRIC_IS_STD,
             KEY_METRIC_FID, KEY_RECON_METRIC, KEY_METRIC_RECON_MEAN, KEY_METRIC_RECON_STD)
