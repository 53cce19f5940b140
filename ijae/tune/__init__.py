"""Equal footing: every model tuned with the same budget (``ijae tune``, ``snakemake tune``).

One Optuna study per (profile, dataset, study): K trials of the study's search space
(space.py: config/presets/<profile>/<study>.space.yaml), design trial 0 the hand-sized preset,
each trial a run through the artifact contract on a validation split carved from the train split
(trial.py), chosen by one criterion for every model (criterion.py), run by any number of workers
against an Optuna journal or RDB storage (storage.py, study.py), ending in a tuned preset
(preset.py: config/tuned/<profile>/<dataset>/<study>.yaml); run.py is `ijae tune` from start to
finish. The report: ijae/report/tuning.py.
"""
