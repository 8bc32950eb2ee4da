_base_ = './child.py'
model = dict(backbone=dict(depth=152), cls_head=dict(num_classes=101))
total_epochs = 50
