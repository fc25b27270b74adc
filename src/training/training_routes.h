/*
 * training_routes.h - the training status route (training_routes.c):
 *   GET /api/v1/training?person=P&course=C&status=S
 * For now a row of the core route table (api/router.c); it may move into
 * the incidents service's table when that service takes training over.
 */
#ifndef VG_TRAINING_ROUTES_H
#define VG_TRAINING_ROUTES_H

struct vg_call;
void vg_api_training(struct vg_call *call);

#endif
