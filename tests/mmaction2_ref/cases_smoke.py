"""A smoke case for the reference machinery itself: mmaction2's 2D ResNet-18 backbone on a 32x32 input."""

CASES = [
    dict(name='resnet18_backbone', cfg=dict(type='ResNet', depth=18, pretrained=None),
         inputs=[(2, 3, 32, 32)], run=lambda model, x: model(x)),
]
