"""Recognition metrics against hand-computed cases."""
import numpy as np
import pytest

from mmaction.evaluation.accuracy import confusion_matrix, mean_class_accuracy, softmax, top_k_accuracy


def test_softmax_rows_sum_to_one_and_match_formula():
    x = np.array([[1.0, 2.0, 3.0], [1000.0, 1000.0, 1000.0]])
    out = softmax(x, dim=1)
    e = np.exp([1.0, 2.0, 3.0])
    np.testing.assert_allclose(out[0], e / e.sum())
    np.testing.assert_allclose(out[1], [1 / 3] * 3)  # no overflow on large logits
    np.testing.assert_allclose(softmax(x.T, dim=0), out.T)


def test_top_k_accuracy_hand_made():
    scores = np.array([[0.1, 0.5, 0.4, 0.0, 0.0, 0.0],    # label 1: top-1 hit
                       [0.6, 0.3, 0.1, 0.0, 0.0, 0.0],    # label 2: third highest -> top-5 hit only
                       [0.0, 0.1, 0.2, 0.3, 0.4, 0.5],    # label 0: lowest of 6 -> miss at k=5
                       [0.9, 0.05, 0.05, 0.0, 0.0, 0.0]])  # label 0: top-1 hit
    labels = [1, 2, 0, 0]
    top1, top2, top5 = top_k_accuracy(scores, labels, k=(1, 2, 5))
    assert top1 == pytest.approx(2 / 4)
    assert top2 == pytest.approx(2 / 4)
    assert top5 == pytest.approx(3 / 4)


def test_mean_class_accuracy_differs_from_top1_on_imbalanced_classes():
    # class 0: 3 videos, 3 right; class 1: 1 video, wrong -> mean class acc = (1 + 0) / 2, top-1 = 3/4
    scores = np.array([[1, 0], [1, 0], [1, 0], [1, 0]], dtype=np.float32)
    labels = [0, 0, 0, 1]
    assert mean_class_accuracy(scores, labels) == pytest.approx(0.5)
    assert top_k_accuracy(scores, labels, k=(1,))[0] == pytest.approx(0.75)


def test_mean_class_accuracy_ignores_classes_without_ground_truth():
    # class 2 is predicted once but never the label: classes 0 (1/2) and 1 (1/1) count -> 0.75
    scores = np.eye(3, dtype=np.float32)[[0, 2, 1]]
    assert mean_class_accuracy(scores, [0, 0, 1]) == pytest.approx(0.75)


def test_confusion_matrix_rows_are_truth():
    cm = confusion_matrix(pred=[0, 1, 1, 2], labels=[0, 0, 1, 2], num_classes=3)
    np.testing.assert_array_equal(cm, [[1, 1, 0], [0, 1, 0], [0, 0, 1]])


@pytest.mark.parametrize('scores,labels,match', [
    (np.zeros((2, 3)), [0], '2 score rows but 1 labels'),
    (np.zeros((2, 3)), [0, 3], r'labels must lie in \[0, 2\]'),
    (np.zeros(3), [0], '2-D'),
    (np.zeros((2, 3)), [0.5, 1.0], 'integers'),
])
def test_bad_inputs_are_named(scores, labels, match):
    with pytest.raises(ValueError, match=match):
        top_k_accuracy(scores, labels, k=(1,))


def test_recognition_metrics_averages_views_and_prints_the_test_tool_lines(capsys):
    from mmaction.evaluation.accuracy import recognition_metrics
    # video 0 (label 0): one extreme view outvotes two moderate ones unless each view is softmaxed first
    outputs = [np.array([[0.0, 30.0, 0.0], [2.0, 0.0, 0.0], [2.0, 0.0, 0.0]]), np.array([[0.0, 0.0, 1.0]] * 3)]
    plain = recognition_metrics(outputs, [0, 2], verbose=True, views=3)
    assert plain == {'mean_class_accuracy': 0.5, 'top1_acc': 0.5, 'top5_acc': 1.0}  # top-5 capped at 3 classes
    soft = recognition_metrics(outputs, [0, 2], use_softmax=True)
    assert soft == {'mean_class_accuracy': 1.0, 'top1_acc': 1.0, 'top5_acc': 1.0}
    assert recognition_metrics(np.array([[0.2, 0.8, 0.0], [0.0, 0.1, 0.9]]), [1, 2])['top1_acc'] == 1.0
    lines = capsys.readouterr().out.splitlines()
    assert lines == ['Averaging score over 3 score rows per video without softmax', 'Mean Class Accuracy = 50.00',
                     'Top-1 Accuracy = 50.00', 'Top-5 Accuracy = 100.00']
    with pytest.raises(ValueError, match=r'scores: 2 results but 3 labels'):
        recognition_metrics(outputs, [0, 1, 2])
