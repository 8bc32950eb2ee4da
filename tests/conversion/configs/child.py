_base_ = ['./_base_/model.py', './_base_/runtime.py', './_base_/schedule.py']

# merged into the base dict key by key; cls_head is replaced whole
model = dict(
    backbone=dict(depth=101, norm_eval=True),
    cls_head=dict(
        _delete_=True,
        type='I3DHead',
        num_classes=num_classes if False else 174,
        in_channels=2048),
    test_cfg=dict(average_clips='prob', max_testing_views=4))
# _delete_ on a key the bases do not have: mmcv keeps the flag in the dict
extra_setting = dict(_delete_=True, value=1)
# replacing a non-dict base value by a dict needs _delete_
load_from = dict(_delete_=True, path='x.pth')
optimizer_config = dict(grad_clip=None)
backbone_copy = {{_base_.model.backbone}}
lr = [{{ _base_.optimizer.lr }}, 0.1]

img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_bgr=False)
clip_len, num_clips = 1, 8
decode = [dict(type='DecordInit'), dict(type='DecordDecode')]
test_pipeline = [
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=1, num_clips=num_clips, test_mode=True),
] + decode + [
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='Collect', keys=['imgs', 'label'], meta_keys=[]),
    dict(type='ToTensor', keys=['imgs'])
]
scales = (1, 0.875) + (0.75, 0.66)
data = dict(videos_per_gpu=32 // 4, test=dict(pipeline=test_pipeline))
data['test']['test_mode'] = True
work_dir = f'./work_dirs/{model["cls_head"]["type"]}_{num_clips:03d}/'
old_style = './work_dirs/' + 'child' + '/%s' % 'x'
steps = [5, 40, 80]
lr_steps = [e * 2 for e in steps if e > 10]
cate = {k: i for i, k in enumerate(['a', 'b'])}
neg = -1
nested = {'a': {'b': [1, 2, {'c': (3, 4)}]}, **{'d': 5}}
big = 2 ** 10
flag = not (num_clips >= 8 and clip_len == 1)
pick = test_pipeline[0]['num_clips']
sliced = decode[:1]
__private = 'dropped'
