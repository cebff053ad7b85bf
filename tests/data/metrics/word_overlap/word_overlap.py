"""A reference-based `evaluate` metric used by the tests: the share of reference words the prediction has."""

import datasets
import evaluate


class WordOverlap(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description="Share of the reference's distinct lowercase words that appear in the prediction.",
            citation="",
            inputs_description="predictions and references: lists of strings",
            features=datasets.Features({"predictions": datasets.Value("string"),
                                        "references": datasets.Value("string")}),
        )

    def _compute(self, predictions, references):
        scores = []
        for prediction, reference in zip(predictions, references, strict=True):
            wanted = set(reference.lower().split())
            scores.append(len(wanted & set(prediction.lower().split())) / len(wanted) if wanted else 0.0)
        return {"word_overlap": sum(scores) / len(scores)}
