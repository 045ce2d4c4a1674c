"""The points of every autograded check and every answer graded by hand, by grade_id: one table for the course.

A grade cell's grade_id is the check it calls (``check_rnn_2``); a written answer's is the name
in its ``<!-- grade_id: NAME -->``. ``python3 course.py stamp`` refuses a grade cell missing here,
and tests/tools/test_grading.py fails on an entry that no notebook uses. Roughly one point per
few minutes of honest work: a one-line exercise 1, a forward pass by hand 4.
"""

POINTS = {
    # 01_mlp_no_state
    "check_make_windows": 3,
    "check_window_features": 2,
    # 02_rnn_one_layer
    "check_rnn_step": 2,
    "check_rnn_step_backward": 4,
    "check_rnn_backward": 4,
    # 03_rnn_2_by_hand
    "check_get_params_2": 2,
    "check_rnn_2": 4,
    "check_rnn_L": 4,
    # 04_lstm_num_layers
    "check_lstm_shapes": 2,
    "check_lstm_params": 2,
    "check_lstm_step": 4,
    # 05_experiments
    "check_deep_begin_state": 1,
    # 06_what_depth_buys
    "check_stack_step": 3,
    "check_residual_step": 3,
    "check_sample_next": 3,
    "check_one_layer_width": 2,
    # written answers graded by hand (markdown cells with <!-- grade_id: ... -->): G2 adds them here
    "q_window_size": 2,  # 01
    "q_overfitting": 2,  # 01
    "q_random_sampling": 2,  # 02
    "q_detach": 2,  # 02
    "q_mistake_5": 2,  # 03
    "q_dropout_rnn_2": 2,  # 03
    "q_gru_vs_lstm": 2,  # 04
    "q_batch_first": 2,  # 04
    "q_width_or_depth": 2,  # 05
    "q_when_real": 2,  # 05
    "q_fair_comparison": 3,  # 05
    "q_line_end": 2,  # 06
    "q_equal_steps_or_time": 2,  # 06
}
