# BSN stage 2 (PGM) on the toy untrimmed dataset; see bsn_tem_toy_feature.py for the whole workflow.
#   python tools/bsn_pgm.py configs/localization/bsn/bsn_pgm_toy_feature.py --mode train   (and --mode test)
data_root = 'data/toy_untrimmed/'
ann_file_train = data_root + 'annotations/anet_train.json'
ann_file_val = data_root + 'annotations/anet_val.json'
tem_results_dir = './work_dirs/bsn_toy/tem_results/'
pgm_proposals_dir = './work_dirs/bsn_toy/pgm_proposals/'
pgm_features_dir = './work_dirs/bsn_toy/pgm_features/'
temporal_scale = 32
pgm_proposals_cfg = dict(pgm_proposals_thread=2, temporal_scale=temporal_scale, peak_threshold=0.5)
pgm_features_test_cfg = dict(pgm_features_thread=2, top_k=300, num_sample_start=8, num_sample_end=8,
                             num_sample_action=16, num_sample_interp=3, bsp_boundary_ratio=0.2)
pgm_features_train_cfg = dict(pgm_features_thread=2, top_k=300, num_sample_start=8, num_sample_end=8,
                              num_sample_action=16, num_sample_interp=3, bsp_boundary_ratio=0.2)
